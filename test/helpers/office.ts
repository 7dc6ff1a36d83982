// Office documents built by tests.
import { buildZip } from './zip.ts';

/** A .docx with one hyperlink, its relationship written as Word writes it. */
export function docxWithLink(url: string): Buffer {
  const rels =
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>' +
    `<Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="${url.replace(/&/g, '&amp;')}" TargetMode="External"/></Relationships>`;
  return buildZip([
    {
      name: '[Content_Types].xml',
      data: Buffer.from('<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'),
    },
    { name: '_rels/.rels', data: Buffer.from('<Relationships/>') },
    {
      name: 'word/document.xml',
      data: Buffer.from('<w:document><w:hyperlink r:id="rId4">View invoice</w:hyperlink></w:document>'),
    },
    { name: 'word/_rels/document.xml.rels', data: Buffer.from(rels) },
  ]);
}

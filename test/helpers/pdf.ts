// PDF files built by tests: one page whose link annotations point at the given URLs (ISO 32000-1 section
// 12.5.6.5 link annotations with URI actions), with a valid cross-reference table so real tools (qpdf)
// read and rewrite them. `hex`: the URIs as hex strings; `escaped`: literal strings with escapes.
export function buildPdf(links: string[], opts: { hex?: boolean; escaped?: boolean } = {}): Buffer {
  const str = (u: string) =>
    opts.hex
      ? `<${Buffer.from(u, 'latin1').toString('hex')}>`
      : `(${opts.escaped ? u.replace(/[()\\]/g, '\\$&').replace(/\//g, '\\057') : u})`;
  const first = 4; // objects 1-3: catalog, pages, page; then one annotation per link
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Annots [${links.map((_, i) => `${first + i} 0 R`).join(' ')}] >>`,
    ...links.map(
      (u, i) =>
        `<< /Type /Annot /Subtype /Link /Rect [72 ${700 - 20 * i} 300 ${715 - 20 * i}] /A << /S /URI /URI ${str(u)} >> >>`,
    ),
  ];
  let pdf = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(Buffer.byteLength(pdf, 'latin1'));
    pdf += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = Buffer.byteLength(pdf, 'latin1');
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const off of offsets) pdf += `${String(off).padStart(10, '0')} 00000 n \n`;
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(pdf, 'latin1');
}

// What an attached archive holds, whatever its format (zip, RAR 4 and 5, 7z, tar, gzip): the names of its files and
// whether they, or the archive's own list of them, are encrypted. Read from the archives' directories;
// nothing is decompressed but a 7z's packed list of names and archives inside a zip, both within one
// allowance per message (ArchiveBudget), so a zip bomb costs nothing. The attachment check judges the
// names like attachments and a password as a sign of malware (scanners cannot look inside).

import { listRar } from './rar.ts';
import { list7z } from './sevenzip.ts';
import { listGzip, listTar } from './tar.ts';
import { isZip, listZip, startsAsZip } from './zip.ts';

export interface ArchiveEntry {
  name: string;
  encrypted: boolean;
  /** Unpacked size when the format says it cheaply, else 0. */
  size: number;
}

export interface ArchiveListing {
  entries: ArchiveEntry[];
  /** Some of the archive could not be read: what was read is listed. */
  damaged: boolean;
  /** The list of files itself is encrypted (RAR -hp, 7z -mhe): nothing can be seen without the password. */
  namesHidden: boolean;
  /** Set when the archive lists more files than are read (10,000): those past the cap go unjudged. */
  truncated?: boolean;
}

export type ArchiveFormat = 'zip' | 'rar' | '7z' | 'tar' | 'gz';

/**
 * What one message's archives may decompress in all (today only 7z's packed file lists, a few KB each):
 * a kilobyte of LZMA can claim megabytes, so without a shared allowance 500 small attachments would
 * cost seconds of a scan worker.
 */
export interface ArchiveBudget {
  unpacked: number;
}

/** Lists an archive by its magic octets (not its name: a .zip renamed .pdf is still read); null: none. */
export function listArchive(
  buf: Buffer,
  budget: ArchiveBudget = { unpacked: Number.MAX_SAFE_INTEGER },
  /** The attachment's name: a gzip without a name of its own holds this name less ".gz". */
  label = '',
): (ArchiveListing & { format: ArchiveFormat }) | null {
  const zip = startsAsZip(buf) ? listZip(buf) : null;
  if (zip) return { ...zip, namesHidden: false, format: 'zip' };
  const rar = listRar(buf);
  if (rar) return { ...rar, format: 'rar' };
  const sz = list7z(buf, budget);
  if (sz) return { ...sz, format: '7z' };
  const gz = listGzip(buf, budget, label);
  if (gz) return { ...gz, format: 'gz' };
  const tar = listTar(buf);
  if (tar) return { ...tar, format: 'tar' };
  // A zip with data in front (a self-extractor, a zip appended to a picture): what unzip opens by its end
  // record. Looked for last, so that an end record's octets inside a RAR or a 7z do not hide it.
  const prefixed = isZip(buf) ? listZip(buf) : null;
  if (prefixed) return { ...prefixed, namesHidden: false, format: 'zip' };
  return null;
}

// COMPRESS DEFLATE (RFC 4978): after the tagged OK both directions are raw DEFLATE; every write is
// flushed (Z_SYNC_FLUSH) so responses are never held back in the compressor.
import { constants, createDeflateRaw, createInflateRaw } from 'node:zlib';
import { atom } from '../args.ts';
import type { Handler } from '../commands.ts';

export const compress: Handler = async (s, cmd) => {
  const alg = atom(cmd.args[0], 'a compression mechanism').toUpperCase();
  if (cmd.args.length !== 1) return { status: 'BAD', text: 'COMPRESS takes one argument' };
  if (alg !== 'DEFLATE') return { status: 'NO', text: 'Unknown compression mechanism' };
  if (s.compressed) return { status: 'NO', code: 'COMPRESSIONACTIVE', text: 'Compression is already on' };
  s.compressed = true;
  return {
    status: 'OK',
    text: 'DEFLATE active',
    noSync: true,
    after: async () => {
      const socket = s.conn.socket;
      const inflate = createInflateRaw();
      const deflate = createDeflateRaw({ flush: constants.Z_SYNC_FLUSH, level: 6, memLevel: 8, windowBits: 15 });
      socket.pipe(inflate);
      deflate.pipe(socket);
      inflate.on('error', () => socket.destroy());
      s.conn.replaceStreams(inflate, deflate);
    },
  };
};

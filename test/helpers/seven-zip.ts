// Three small 7z archives as 7-Zip writes them, kept as bytes so the 7z reader is tested where 7-Zip is not
// installed (the tests that have it make more).
const b64 = (s: string) => Buffer.from(s, 'base64');

// Made by 7-Zip 26.02: `7zz a -pSecret` (names readable, files AES-encrypted), `7zz a -pSecret -mhe=on`
// (the header encrypted too), both of evil.exe and readme.txt; `7zz a -mx9` of 30 invoice-2026-NN.pdf and
// invoice-2026-31.pdf.exe (an LZMA-compressed header long enough to hold matches).
export const PLAIN_NAMES = b64(
  'N3q8ryccAATTd7/+lgAAAAAAAAAiAAAAAAAAAG4gYnI1NR8H4Tra9yIUY3vV5VoDAACBMweuD87ysgwHsMPa919FiphISvf6OZ1BXuLwKf6c1ICjWBtDD/NvWOrJ33KPNlmeikQcw/RPRDeWwDelPr8BX1ubQg7EQVT6T8Gt2FZ45JZrWuGGL1unwvV1KV0kTQ8GIlefrUnSHVhOyTDy1WST5bu8dLr5yJRJHXJq36/BhQDJAAAXBhABCYCGAAcLAQABIwMBAQVdABAAAAyAngoBgXg7hQAA',
);
export const HIDDEN = b64(
  'N3q8ryccAAR5HIBOoAAAAAAAAAA+AAAAAAAAAKZ4ap+RfqCFVCComtA2PjBXqUpHxDGkD2mOS0QcVxtI+4P/zvdz4RJC3keqSsL0hfT0NUHu1DcPov87c/Yn5LjqxdphNpnJVv3YjR3ZOlE4OADX5W8a84sbW64vzhAoZPvmeCB4+TZylZ61YLU/6AdGa1zppxlDJiPCJlyxl+U0qdihA3JeMp/6On3v22YxqQnOf8oyLJGMBB5pGShqilpXLgaVFwYQAQmAkAAHCwEAAiQG8QcBElMPEGv8+bM4ZrGOAnA8y7WEyCMDAQEFXQAQAAABAAyAhYCeCgFf/zjgAAA=',
);
export const MANY = b64(
  'N3q8ryccAAQhItjgjgEAAAAAAAAiAAAAAAAAAFJ0/f/gAHEAQF0AOIw9RzPfiBiRNH2axzYLPOYCWPORa/Xb0YtMOLtrSWu4ZlISU4rsbjCdwgtVe335uGmCyEyH7wwTSioHEmTAAAAAAIEzB64P0lo1/UDAkNL/fWlNjJtOGAQq2u/YszJjKHAgU46qL8aiC8GuU1qwuM7H8zmWa8tYEV7SkuGe07mV8OQsU4RBSevx6T+V6PLLiA8dOjxlCYOAhpIeXfkJcUcmzAqRNmqUcX8UlKrpTsB/Vl9HVMpVAIm/skmOrNIAHASOOg3/B822JWdCuLSmJRQJG+5OIwaCq8UlsiO81hSaGTIp4QodAzMX1IqcSYs36QjgkLTX+9wL4QeNFUG5IRpwAcOEw5BOLLczgcfVv4iAYc2FydTu6D0JE71kFOQXCXtndhHQxoJqE8MK3Jw54k3r8I2Zh8kyDSW+ixmFOmi8oJO6Z/pdd6Y2N/sKm1ZroRVh6b+vRJlVcL62uQ+KUxBGbyM7mJr+cvKq3XoKYjH68dD/qovfAbC86Ew0GJvRdPVkHgAAABcGSAEJgUYABwsBAAEjAwEBBV0AEAAADIciCgFOTs//AAA=',
);

// Object ids shown to clients (IMAP OBJECTID RFC 8474, JMAP ids later): one letter naming the kind, then
// the row id. One place, so IMAP and JMAP always print and parse the same strings.

export const mailboxObjectId = (id: number): string => `M${id}`;
export const emailObjectId = (id: number): string => `E${id}`;
export const threadObjectId = (id: number): string => `T${id}`;

# Drives Petrel with Python's imaplib (a real, widely used client) and prints what it saw as JSON.
# Usage: python3 imaplib_flow.py PORT USER PASSWORD
import imaplib
import json
import sys

port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
out = {}
M = imaplib.IMAP4('127.0.0.1', port)
out['caps_before'] = list(M.capabilities)
out['login'] = M.login(user, password)[0]
out['caps'] = list(M.capabilities)
out['namespace'] = M.namespace()[1][0].decode()
out['create'] = M.create('Lib/Sub')[0]
typ, data = M.list('""', '*')
out['list'] = [d.decode() for d in data]
msg = b'From: a@example.com\r\nSubject: imaplib\r\nMessage-ID: <lib@x>\r\n\r\nbody text\r\n'
out['append'] = M.append('Lib/Sub', '(\\Flagged)', imaplib.Time2Internaldate(1700000000), msg)
out['append2'] = M.append('Lib/Sub', None, None, b'Subject: two\r\n\r\nsecond\r\n')[0]
typ, data = M.select('Lib/Sub')
out['select'] = [typ, data[0].decode()]
typ, data = M.fetch('1', '(FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
out['fetch'] = [d if isinstance(d, bytes) else [x.decode() for x in d] for d in data]
out['fetch'] = [x.decode() if isinstance(x, bytes) else x for x in out['fetch']]
typ, data = M.fetch('1:*', '(UID BODY[TEXT])')
out['texts'] = [d[1].decode() for d in data if isinstance(d, tuple)]
typ, data = M.store('2', '+FLAGS', '(\\Deleted)')
out['store'] = [d.decode() for d in data]
out['search'] = M.search(None, 'FLAGGED')[1][0].decode()
out['uid_search'] = M.uid('SEARCH', 'ALL')[1][0].decode()
out['copy'] = M.copy('1', 'INBOX')
out['expunge'] = [d.decode() for d in M.expunge()[1]]
out['status'] = M.status('Lib/Sub', '(MESSAGES UNSEEN UIDNEXT)')[1][0].decode()
out['uid_move'] = M.uid('MOVE', '1', 'Trash')[0]
out['quota'] = M.getquotaroot('INBOX')[0]
out['close'] = M.close()[0]
out['rename'] = M.rename('Lib', 'Lib2')[0]
out['delete'] = M.delete('Lib2/Sub')[0]
out['logout'] = M.logout()[0]


def plain(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v


print(json.dumps({k: plain(v) for k, v in out.items()}))

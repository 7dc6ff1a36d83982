# Two imaplib sessions of one user: the second deletes the mailbox the first has selected, and this prints
# (as JSON) what the first then sees: on its next command, and while it idles (RFC 2177).
# Usage: python3 deleted_mailbox.py PORT USER PASSWORD PREFIX
import imaplib
import json
import socket
import sys

port, user, password, prefix = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
MSG = b'From: a@example.com\r\nSubject: doomed\r\n\r\nbody\r\n'


def session():
    m = imaplib.IMAP4('127.0.0.1', port)
    m.login(user, password)
    return m


def seen(m, run):
    """Runs one command; returns its status (or 'abort'), the BYE text if any, and whether the session lives."""
    try:
        typ, _ = run()
    except imaplib.IMAP4.abort:
        typ = 'abort'
    bye = m.untagged_responses.get('BYE')
    alive = True
    try:
        m.noop()
    except (imaplib.IMAP4.abort, OSError):
        alive = False
    bye = bye or m.untagged_responses.get('BYE')
    return {'status': typ, 'bye': bye[-1].decode() if bye else None, 'alive': alive}


out = {}
other = session()

# The next command after the mailbox went: NOOP, and FETCH (a selected-state command).
for case, cmd in (('noop', lambda m: m.noop()), ('fetch', lambda m: m.fetch('1', '(FLAGS)'))):
    box = f'{prefix}-{case}'
    other.create(box)
    other.append(box, None, None, MSG)
    m = session()
    m.select(box)
    other.delete(box)
    out[case] = seen(m, lambda: cmd(m))

# IDLE: the deletion is pushed while the client waits.
box = f'{prefix}-idle'
other.create(box)
other.append(box, None, None, MSG)
m = session()
m.select(box)
tag = m._new_tag().decode()
m.send(f'{tag} IDLE\r\n'.encode())
out['idle_start'] = m.readline().decode().strip()
other.delete(box)
m.sock.settimeout(10)
lines = []
try:
    while True:
        line = m.readline()
        if not line:
            lines.append('<EOF>')
            break
        lines.append(line.decode().strip())
        if line.startswith(b'* BYE'):
            m.sock.settimeout(2)
except socket.timeout:
    lines.append('<timeout>')
out['idle'] = lines

# IDLE begun after the deletion: the client is told right after the continuation.
box = f'{prefix}-late'
other.create(box)
m = session()
m.select(box)
other.delete(box)
tag = m._new_tag().decode()
m.send(f'{tag} IDLE\r\n'.encode())
m.sock.settimeout(10)
lines = []
try:
    while len(lines) < 5:
        line = m.readline()
        lines.append(line.decode().strip() if line else '<EOF>')
        if not line:
            break
except socket.timeout:
    lines.append('<timeout>')
out['late_idle'] = lines

# SELECT of another mailbox leaves the deleted one behind: the session goes on there.
box = f'{prefix}-away'
other.create(box)
m = session()
m.select(box)
other.delete(box)
out['away'] = [m.select('INBOX')[0], m.noop()[0]]

# The session that deleted it (not selected there) goes on.
out['other'] = other.noop()[0]
print(json.dumps(out))

#!/usr/bin/perl
# An independent SCRAM-SHA-256 client (Debian's libauthen-scram-perl) speaking IMAP, SMTP or POP3 over a
# plain TCP socket: signs in and checks the server's signature. Prints "OK <final reply>" and exits 0, or
# prints the failing reply and exits 1. Usage: scram-client.pl imap|smtp|pop3 HOST PORT USER PASSWORD
use strict;
use warnings;
use IO::Socket::INET;
use MIME::Base64;
use Authen::SCRAM::Client;

my ($proto, $host, $port, $user, $pass) = @ARGV;
my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => 'tcp', Timeout => 20)
  or die "connect: $!";
$s->autoflush(1);
sub line { my $l = <$s>; die "connection closed\n" unless defined $l; $l =~ s/\r?\n$//; return $l; }
sub send_line { print $s "$_[0]\r\n"; }

my $client = Authen::SCRAM::Client->new(username => $user, password => $pass, digest => 'SHA-256');
my ($cont, $start);
if ($proto eq 'imap') {
  line();
  $start = sub { send_line("a AUTHENTICATE SCRAM-SHA-256 " . encode_base64($_[0], '')) };
  $cont = qr/^\+ ?(.*)$/;
} elsif ($proto eq 'smtp') {
  my $g = line();
  $g = line() while $g =~ /^220-/;
  send_line("EHLO scram.test");
  while ((my $l = line()) =~ /^250-/) {}
  $start = sub { send_line("AUTH SCRAM-SHA-256 " . encode_base64($_[0], '')) };
  $cont = qr/^334 ?(.*)$/;
} else {
  line();
  $start = sub { send_line("AUTH SCRAM-SHA-256 " . encode_base64($_[0], '')) };
  $cont = qr/^\+ ?(.*)$/;
}

$start->($client->first_msg());
my $r = line();
if ($r !~ $cont) { print "$r\n"; exit 1; }
my $server_first = decode_base64($1);
send_line(encode_base64($client->final_msg($server_first), ''));
$r = line();
if ($r !~ $cont) { print "$r\n"; exit 1; }
my $server_final = decode_base64($1);
if (!$client->validate($server_final)) { print "server signature invalid\n"; exit 1; }
send_line('');
$r = line();
if ($r =~ /^(a OK|235 |\+OK)/) { print "OK $r\n"; exit 0; }
print "$r\n";
exit 1;

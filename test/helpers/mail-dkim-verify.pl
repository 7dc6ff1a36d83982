#!/usr/bin/perl
# An independent DKIM/ARC verifier: Perl's Mail::DKIM (Debian libmail-dkim-perl) reading a message on stdin,
# keys from the DNS server at 127.0.0.1:PORT (argv[0]). Prints one line per DKIM signature
# ("dkim RESULT d=DOMAIN a=ALGO (DETAIL)") and one ARC line ("arc RESULT (DETAIL)"). Mail::DKIM verifies
# rsa-sha256 only: an ed25519-sha256 signature or seal reads as invalid.
use strict;
use warnings;
use Net::DNS;
use Mail::DKIM;
use Mail::DKIM::Verifier;
use Mail::DKIM::ARC::Verifier;

my $port = shift @ARGV or die "usage: $0 DNS-PORT < message\n";
Mail::DKIM::DNS::resolver(Net::DNS::Resolver->new(nameservers => ['127.0.0.1'], port => $port, recurse => 1, udp_timeout => 3, tcp_timeout => 3, retry => 1));
binmode STDIN;
local $/;
my $msg = <STDIN>;

my $v = Mail::DKIM::Verifier->new();
$v->PRINT($msg);
$v->CLOSE;
my @sigs = $v->signatures;
print "dkim none\n" unless @sigs;
for my $s (@sigs) {
  my $d = $s->domain // '';
  my $a = $s->algorithm // '';
  my $r = $s->result // '';
  my $detail = $s->result_detail // '';
  print "dkim $r d=$d a=$a ($detail)\n";
}

my $arc = Mail::DKIM::ARC::Verifier->new();
$arc->PRINT($msg);
$arc->CLOSE;
my $ad = $arc->result_detail // '';
print "arc " . ($arc->result // '') . " ($ad)\n";

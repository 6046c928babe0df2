#!/usr/bin/perl
# Reads messages from stdin, each as "<byte length>\n<bytes>", and writes one JSON line per message:
# the list of bounce (or complaint) records Sisimai finds in it, [] for none. Used by bounces.py.
use strict;
use warnings;
use JSON::PP;
use Sisimai::Message;
use Sisimai::Data;

binmode STDIN;
binmode STDOUT;
$| = 1;
my $json = JSON::PP->new->canonical;
my @fields = qw(reason softbounce deliverystatus diagnosticcode action messageid feedbacktype smtpagent replycode);
while( defined( my $size = <STDIN> ) ) {
    chomp $size;
    last unless $size =~ /^\d+$/;
    my $text = '';
    while( length($text) < $size ) {
        my $read = read(STDIN, $text, $size - length($text), length($text));
        last unless $read;
    }
    my @records;
    eval {
        local $SIG{__WARN__} = sub {};
        # Sisimai expects the mbox "From " line; a message read over IMAP has none.
        $text = "From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n".$text unless $text =~ /\AFrom /;
        $text =~ s/\r\n/\n/g;
        if( my $message = Sisimai::Message->new('data' => $text) ) {
            my $data = Sisimai::Data->make('data' => $message, 'delivered' => 0) || [];
            for my $record ( @$data ) {
                my $row = { map { $_ => ( defined $record->{$_} ? "$record->{$_}" : '' ) } @fields };
                $row->{'recipient'} = $record->{'recipient'} ? $record->{'recipient'}->address : '';
                push @records, $row;
            }
        }
        1;
    } or @records = ();
    print $json->encode(\@records), "\n";
}

#!/usr/bin/perl
# Prints, as JSON, what Sisimai (Debian's libsisimai-perl, an independent
# bounce classifier) finds in each .eml file of a directory:
# {"name.eml": [{"reason": "userunknown", "status": "5.1.1",
#                "feedbacktype": "", "recipient": "..."}, ...]}
# One entry per recipient; an empty list when it finds no bounce.
use strict;
use warnings;
use JSON::PP;
use Sisimai;

my $directory = shift or die "usage: sisimai_verdicts.pl DIRECTORY\n";
opendir(my $handle, $directory) or die "$directory: $!\n";
my %verdicts;
for my $file (sort grep { /\.eml$/ } readdir($handle)) {
    my $found = Sisimai->make("$directory/$file", 'delivered' => 1, 'vacation' => 1) || [];
    $verdicts{$file} = [
        map {
            {
                reason => $_->reason, status => $_->deliverystatus // '',
                feedbacktype => $_->feedbacktype // '', recipient => $_->recipient->address // '',
            }
        } @$found
    ];
}
print JSON::PP->new->canonical->encode(\%verdicts), "\n";

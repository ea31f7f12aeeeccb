#!/bin/sh
# Regenerates the DICOM detector's sample files from sample.dump with dcmtk
# (apt-get install dcmtk). Each is a few hundred bytes: a 128-byte
# preamble, "DICM", the file meta group and the dataset of sample.dump in one
# transfer syntax, sequences written with undefined lengths.
set -eu
cd "$(dirname "$0")"
dump2dcm -e +te sample.dump sample-explicit.dcm
dump2dcm -e +ti sample.dump sample-implicit.dcm
dump2dcm -e +tb sample.dump sample-big-endian.dcm
dump2dcm -e +td sample.dump sample-deflated.dcm

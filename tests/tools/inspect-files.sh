#!/bin/sh
# Runs the FILE-mode gtest suite of rseq-inspect (inspect-files-test) once.  A script,
# not the binary itself in TESTS: the registration-mode stamp rules would otherwise
# run the binary under one arbitrary mode.
exec "${RSEQKIT_BUILDDIR:-.}/tests/tools/inspect-files-test" "$@"

//! Tests of the H.323 ALG with messages from the public captures.

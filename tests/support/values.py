"""Values shared by the capture tests."""

from __future__ import annotations

# Official test BSNs (they pass the 11-test and are not issued to anyone).
BSN_A = "999993653"
BSN_B = "999995017"
BSN_C = "999990019"
ACTIVITEIT = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"
ZAAK = "0b1c7c2e-6a64-4d38-9e3e-2f1b8d7c9a10"
OIN_AFNEMER = "00000001234567890000"

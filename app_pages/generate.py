"""Generate (researcher): placeholder until the generation models are wired into the app."""

from __future__ import annotations

import streamlit as st

from app_pages.common import require_admin

require_admin()
st.title("Generate music")
st.info(
    "Sampling from trained models in the app comes later. Meanwhile use the command line "
    "(`python -m generation --help`), then score the generated MIDI on the Score MIDI page or put it in a "
    "study on the Studies page."
)

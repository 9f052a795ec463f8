"""Test support shared by ``tests/`` and ``benchmarks/`` (neither imports the other): small studies and MIDI
built in code, a live Streamlit server with a raw websocket client, concurrent participants, real corpora."""

"""A blind audio player for listening trials (Streamlit ``st.components.v2``, no iframe, no npm build).

The clip travels as base64 inside the component's JSON data and the browser turns it into a ``blob:`` URL,
so neither the page HTML nor any media URL carries a file, set or model name (the usual leak of web
listening tests: webMUSHRA/BeaqleJS serve ``/audio/<condition>.wav``). The ``<audio>`` element reports
``play``, ``pause`` and ``ended`` events back to Python through ``setStateValue``; with
``require_full`` the participant cannot seek past the furthest point heard nor change the playback rate,
so ``ended`` means "heard to the end".

State returned to Python (``result.log``): ``{"ended": bool, "events": [{"type", "t_ms", "at_s"}, ...]}``
where ``t_ms`` is milliseconds since the player was shown and ``at_s`` the playback position in seconds.
"""

from __future__ import annotations

import base64
from typing import Any

import streamlit as st

_HTML = '<div class="tl-player"><audio class="tl-audio" controls preload="auto" ' \
        'controlsList="nodownload noplaybackrate" oncontextmenu="return false;"></audio>' \
        '<div class="tl-status" aria-live="polite"></div></div>'

_CSS = """
.tl-player { display: flex; flex-direction: column; gap: 0.4rem; }
.tl-audio { width: 100%; max-width: 32rem; }
.tl-status { font-size: 0.9rem; color: var(--st-text-color); opacity: 0.75; }
"""

# The default export runs on mount and again whenever the data changes; it must be idempotent so a
# rerun of the script while the clip plays does not restart it.
_JS = """
export default function(component) {
    const { data, parentElement, setStateValue } = component;
    const audio = parentElement.querySelector('.tl-audio');
    const status = parentElement.querySelector('.tl-status');
    if (!audio || !data || !data.b64) { return; }
    if (audio.dataset.token === data.token) { return; }
    audio.dataset.token = data.token;
    const bin = atob(data.b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) { bytes[i] = bin.charCodeAt(i); }
    if (audio.src && audio.src.startsWith('blob:')) { URL.revokeObjectURL(audio.src); }
    audio.src = URL.createObjectURL(new Blob([bytes], { type: data.mime }));
    const t0 = performance.now();
    const events = [];
    let furthest = 0;
    let ended = false;
    const say = (text) => { status.textContent = text; };
    say(data.require_full ? data.text_listen : '');
    const send = () => setStateValue('log', { ended: ended, events: events.slice() });
    const record = (type) => {
        events.push({ type: type, t_ms: Math.round(performance.now() - t0),
                      at_s: Math.round(audio.currentTime * 1000) / 1000 });
    };
    audio.ontimeupdate = () => {
        if (!audio.seeking && audio.currentTime > furthest) { furthest = audio.currentTime; }
    };
    // no fast-forward either: "heard to the end" means at normal speed
    audio.onratechange = () => {
        if (data.require_full && !ended && audio.playbackRate !== 1) { audio.playbackRate = 1; }
    };
    audio.onseeking = () => {
        if (data.require_full && !ended && audio.currentTime > furthest + 0.25) {
            audio.currentTime = furthest;
        }
    };
    // every state change reruns the page on the server: report "play" only when answers do not wait
    // for the end (otherwise the log arrives with "pause"/"ended")
    audio.onplay = () => { record('play'); if (!data.require_full) { send(); } };
    audio.onpause = () => { if (!audio.ended) { record('pause'); send(); } };
    audio.onended = () => {
        furthest = audio.duration || furthest;
        ended = true;
        record('ended');
        say(data.text_done);
        send();
    };
    if (data.autoplay) { audio.play().catch(() => {}); }
}
"""

_player = st.components.v2.component("tunelab_blind_player", html=_HTML, css=_CSS, js=_JS)


def blind_player(clip: bytes, *, key: str, mime: str = "audio/mpeg", require_full: bool = True,
                 autoplay: bool = False, on_change: Any = None) -> dict[str, Any]:
    """Show one clip and return its playback log ``{"ended": bool, "events": [...]}``.

    Parameters
    ----------
    clip : encoded audio bytes (MP3/OGG/WAV); sent inline, never as a URL.
    key : widget key; use a fresh one per trial so the log starts empty.
    mime : MIME type of ``clip``.
    require_full : forbid seeking past the furthest point heard (full playback before answering).
    autoplay : try to start playback at once (browsers may block it until the user interacts).
    on_change : callback run when the log changes (Streamlit widget callback).
    """
    data = {
        "b64": base64.b64encode(clip).decode("ascii"),
        "mime": mime,
        "token": key,
        "require_full": bool(require_full),
        "autoplay": bool(autoplay),
        "text_listen": "Listen to the whole clip; the answer buttons unlock when it ends.",
        "text_done": "Clip finished. You can listen again or answer.",
    }
    result = _player(key=key, data=data, default={"log": {"ended": False, "events": []}},
                     on_log_change=on_change or (lambda: None))
    log = getattr(result, "log", None) or {}
    return {"ended": bool(log.get("ended", False)), "events": list(log.get("events", []))}


def audio_mime(clip: bytes) -> str:
    """MIME type guessed from the first bytes of an encoded clip (MP3, OGG, WAV, FLAC)."""
    if clip[:4] == b"OggS":
        return "audio/ogg"
    if clip[:4] == b"RIFF":
        return "audio/wav"
    if clip[:4] == b"fLaC":
        return "audio/flac"
    return "audio/mpeg"

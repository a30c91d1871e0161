"""The page `thirdbook serve` answers with: textual-serve's own page (its xterm.js terminal,
`static/js/textual.js`), kept to what is served from here (no web font fetched from
elsewhere, no ping to an address taken from the query) and escaped throughout."""

from __future__ import annotations

from html import escape
from string import Template

POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)
"""The page's Content-Security-Policy: it loads and connects to nothing but this server."""

PAGE = Template(
    """<!DOCTYPE html>
<html>
  <head>
    <meta charset="utf-8" />
    <title>$title</title>
    <link rel="stylesheet" href="$static/css/xterm.css" />
    <script src="$static/js/textual.js"></script>
    <style>
      @font-face {
        font-family: "Roboto Mono";
        src: url("$static/fonts/RobotoMono-VariableFont_wght.ttf");
      }
      body { background: #0c181f; margin: 0; }
      .dialog-container {
        position: absolute; width: 100vw; height: 100vh; display: flex;
        align-items: center; justify-content: center; z-index: 10;
      }
      .shade { position: absolute; width: 100%; height: 100%; background: #0c181f; }
      .intro {
        width: 640px; min-height: 200px; font-size: 16px; z-index: 20;
        font-family: "Roboto Mono", menlo, monospace; text-align: center;
        color: rgba(255, 255, 255, 0.95); background-color: #12232d; display: flex;
        flex-direction: column; align-items: center; justify-content: center; margin: 32px;
      }
      body.-first-byte .intro-dialog { display: none; }
      body .textual-terminal { opacity: 0; width: 100vw; height: 100vh; }
      body.-first-byte .textual-terminal { opacity: 1; transition: opacity 0.3s ease-out; }
      button {
        padding: 16px 32px; background-color: #5e0ba7; color: rgba(255, 255, 255, 0.95);
        border: none; font-family: "Roboto Mono", menlo, monospace; margin: 16px;
      }
      button:hover { background: #ac5af4; cursor: pointer; }
      .closed-dialog { display: none; }
      body.-closed .closed-dialog { display: flex; }
      #start { display: none; }
      #start.-delay { display: block; }
    </style>
    <script>
      function startUrl() {
        const url = new URL(window.location.href);
        url.searchParams.delete("delay");
        url.searchParams.delete("ping");
        return url.pathname + "?" + url.searchParams.toString();
      }
      function restart() { window.location.href = startUrl(); }
    </script>
  </head>
  <body>
    <div class="dialog-container intro-dialog">
      <div class="shade"></div>
      <div class="intro">
        <div>$title</div>
        <div>$mode</div>
        <button type="button" onclick="restart()" id="start">Start</button>
      </div>
    </div>
    <div class="dialog-container closed-dialog">
      <div class="shade"></div>
      <div class="intro">
        <div class="message">Session ended.</div>
        <button type="button" onclick="restart()">Restart</button>
      </div>
    </div>
    <div
      id="terminal"
      class="textual-terminal"
      data-session-websocket-url="$websocket"
      data-font-size="$font_size"
    ></div>
  </body>
</html>
"""
)


def render_page(*, base_url: str, title: str, mode: str, font_size: int) -> str:
    """The page for a console served at `base_url` (http(s)://host:port, no slash after)."""
    scheme, rest = base_url.split(":", 1)
    websocket = f"{'wss' if scheme == 'https' else 'ws'}:{rest}/ws"
    return PAGE.substitute(
        title=escape(title),
        mode=escape(mode),
        static=escape(f"{base_url}/static", quote=True),
        websocket=escape(websocket, quote=True),
        font_size=str(font_size),
    )

"""The study's HTML (Jinja templates, autoescaped by Flask's render_template_string).

A trial page carries only the trial's number, the opaque token of its image and the two answers:
never a source, store path, image id or truth, so reading the page source tells a participant
nothing. Answering: the buttons (a plain form POST, works without JavaScript) or the keys R and F
(JavaScript clicks the button). The script also measures the response time from the image
appearing to the answer; the server falls back to its own clock without it.
"""

from __future__ import annotations

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; background: #fafafa; }
h1 { font-size: 1.4rem; }
.eye { display: block; margin: 1.5rem auto; border: 1px solid #999; background: #000; }
.answers { display: flex; gap: 1rem; justify-content: center; }
.answers button, .start { font-size: 1.2rem; padding: .7rem 2rem; cursor: pointer; }
.progress { text-align: center; color: #555; }
.note { color: #555; font-size: .9rem; }
kbd { border: 1px solid #888; border-radius: 3px; padding: 0 .3rem; background: #fff; }
"""

LAYOUT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Eye images: real or not?</title><style>{{ style }}</style></head>
<body>{% block body %}{% endblock %}</body></html>
"""

START = LAYOUT.replace(
    "{% block body %}{% endblock %}",
    """<h1>Eye images: real or computer-made?</h1>
<p>You will see {{ trials }} small images of an eye, one at a time. Some are photographs of real
eyes; the others were made by a computer. For each image, answer whether you think it is
<b>real</b> or <b>fake</b>. About half are real. Take as long as you need; your first impression
is fine.</p>
<p>Answer with the buttons or the keys <kbd>R</kbd> (real) and <kbd>F</kbd> (fake). You can close
the tab and come back later in this browser: you continue where you stopped.</p>
<p class="note">{{ display }} Your answers are stored under an anonymous id (no name, no address);
nothing else about you is kept.</p>
<form method="post" action="/start"><button class="start" id="start" type="submit">Start</button>
</form>""",
)

TRIAL = LAYOUT.replace(
    "{% block body %}{% endblock %}",
    """<p class="progress" id="progress">Image {{ number }} of {{ trials }}</p>
<img class="eye" id="eye" src="/image/{{ token }}" width="{{ width }}" height="{{ height }}"
     alt="an eye image">
<form method="post" action="/answer" id="answer-form">
<input type="hidden" name="token" value="{{ token }}">
<input type="hidden" name="rt_ms" id="rt_ms" value="">
<div class="answers">
<button type="submit" name="answer" value="real" id="real">Real <kbd>R</kbd></button>
<button type="submit" name="answer" value="fake" id="fake">Fake <kbd>F</kbd></button>
</div></form>
<p class="note">{{ display }}</p>
<script>
(function () {
  var img = document.getElementById("eye"), rt = document.getElementById("rt_ms");
  var form = document.getElementById("answer-form"), shown = null, sent = false;
  function mark() { if (shown === null) { shown = performance.now(); } }
  if (img.complete && img.naturalWidth > 0) { mark(); } else { img.addEventListener("load", mark); }
  ["real", "fake"].forEach(function (id) {
    document.getElementById(id).addEventListener("click", function (e) {
      if (sent) { e.preventDefault(); return; }
      sent = true;
      rt.value = shown === null ? "" : Math.round(performance.now() - shown);
    });
  });
  document.addEventListener("keydown", function (e) {
    var k = (e.key || "").toLowerCase();
    if (k === "r") { document.getElementById("real").click(); }
    if (k === "f") { document.getElementById("fake").click(); }
  });
})();
</script>""",
)

DONE = LAYOUT.replace(
    "{% block body %}{% endblock %}",
    """<h1 id="done">Thank you!</h1>
<p>You answered all {{ trials }} images; your answers are saved.</p>
<p class="note">Someone else taking the study on this computer starts as a new participant:</p>
<form method="post" action="/new"><button type="submit" id="new">New participant</button></form>""",
)


def display_note(upscale: int, interpolation: str, hw: tuple[int, int] = (36, 60)) -> str:
    """The sentence every page shows about how the images are enlarged."""
    h, w = hw
    how = "nearest-neighbour" if interpolation == "nearest" else "bilinear"
    return (
        f"Each image is {w} × {h} pixels, shown {upscale}× enlarged to {w * upscale} × "
        f"{h * upscale} ({how} interpolation)."
    )

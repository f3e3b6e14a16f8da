"""Where the pages' assets come from: GOV.UK Frontend's build from npm, and the service's own."""

import base64
import hashlib
import re
from pathlib import Path

import govuk_frontend_jinja

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
_GOVUK_DIST = Path("node_modules") / "govuk-frontend" / "dist" / "govuk"
_AUTOCOMPLETE_DIST = Path("node_modules") / "accessible-autocomplete" / "dist"
GOVUK_TEMPLATES = Path(govuk_frontend_jinja.__file__).resolve().parent / "templates"


def _installed(dist: Path) -> Path:
    """An npm package's build, installed by `npm ci` beside the project (or the image's working
    directory)."""
    for root in (HERE.parent, Path.cwd()):
        if (root / dist).is_dir():
            return root / dist
    return HERE.parent / dist


def govuk_dist() -> Path:
    """GOV.UK Frontend's dist/govuk."""
    return _installed(_GOVUK_DIST)


def autocomplete_dist() -> Path:
    """GOV.UK's accessible autocomplete (alphagov/accessible-autocomplete), for long lists."""
    return _installed(_AUTOCOMPLETE_DIST)


def _template_script_hash() -> str:
    """The CSP hash of the one inline script of GOV.UK's page template (it marks the body as
    having JavaScript), so no other inline script can run."""
    source = (GOVUK_TEMPLATES / "template.html").read_text(encoding="utf-8")
    found = re.search(r"<script[^>]*>(.*?)</script>", source, re.DOTALL)
    assert found is not None, "GOV.UK template without its body script"
    digest = hashlib.sha256(found.group(1).encode()).digest()
    return "'sha256-" + base64.b64encode(digest).decode() + "'"


TEMPLATE_SCRIPT_HASH = _template_script_hash()

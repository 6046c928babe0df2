"""Build the Chrome extension for one Nudge: `python extensions/build.py --nudge-url https://nudge.example.com`.

1. Copies extensions/chrome/ into `--out` (default dist/nudge-for-gmail/).
2. Sets the manifest's externally_connectable to that Nudge's origin: only its
   pages may hand the extension a token (Nudge's connect page does).
3. Zips the folder next to it (dist/nudge-for-gmail.zip), to load or publish.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

SOURCE = Path(__file__).resolve().parent / "chrome"


def match_pattern(nudge_url: str) -> str:
    parts = urlsplit(nudge_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SystemExit(f"--nudge-url must be http(s)://host[:port], not {nudge_url!r}")
    return f"{parts.scheme}://{parts.netloc}/*"


def build(nudge_url: str, out: Path) -> Path:
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(SOURCE, out)
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["externally_connectable"] = {"matches": [match_pattern(nudge_url)]}
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    archive = out.with_suffix(".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(out.rglob("*")):
            if path.is_file():
                zipped.write(path, path.relative_to(out))
    return archive


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nudge-url", required=True, help="the Nudge address reps connect to")
    parser.add_argument("--out", type=Path, default=Path("dist/nudge-for-gmail"))
    args = parser.parse_args(argv)
    print(build(args.nudge_url, args.out))


if __name__ == "__main__":
    main(sys.argv[1:])

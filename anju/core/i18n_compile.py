"""Compiles every .po catalogue under anju/ into its .mo, without needing GNU gettext installed.

Run by scripts/bootstrap.sh; only catalogues newer than their .mo are rewritten."""

from pathlib import Path

import polib

PACKAGE_DIR = Path(__file__).resolve().parent.parent


def compile_catalogues(root: Path = PACKAGE_DIR) -> list[Path]:
    written = []
    for po_path in sorted(root.rglob("locale/*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        polib.pofile(str(po_path)).save_as_mofile(str(mo_path))
        written.append(mo_path)
    return written


if __name__ == "__main__":
    compile_catalogues()

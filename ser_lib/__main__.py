"""``python -m ser_lib predict AUDIO [AUDIO ...] [--model PATH] [--same-speaker | --neutral REF [REF ...]] [--json]``.

Exit codes: 0 every file was judged; 1 some files were refused (each with its one-line reason:
unreadable, no speech detected, too little speech, a duplicate or a degenerate ``--same-speaker``
batch, too few usable ``--neutral`` references); 2 a usage or model error (bad arguments, a missing, damaged or tampered model)."""

from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ser_lib", description="Speech-emotion-recognition report tools.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("predict", help="predict the emotion of audio files with a saved model")
    p.add_argument("audio", nargs="+", help="audio files (wav, flac, ogg/opus, aiff; any rate, mono or stereo)")
    p.add_argument("--model", default=None,
                   help="saved model: a linear bundle (.json + .npz) or a .keras with its .json "
                        "(default: $SER_MODEL, else the shipped openSMILE model trained on CREMA-D and RAVDESS)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--same-speaker", action="store_true",
                     help="the files are recordings of ONE speaker covering the emotions about evenly: normalise "
                          "them together (per-speaker normalisation); needs 4 or more distinct files")
    how.add_argument("--neutral", nargs="+", metavar="REF", default=None,
                     help="3 or more NEUTRAL recordings of the same speaker: their mean features are subtracted "
                          "from each file's (the speaker enrolled by neutral speech; works on any batch)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)

    from ser_lib.models.bundle import BundleError
    from ser_lib.models.predict import ModelNotFoundError, format_table, predict, to_json

    try:
        results = predict(args.audio, model_path=args.model, same_speaker=args.same_speaker, neutral=args.neutral)
    except (ModelNotFoundError, BundleError, ValueError, OSError) as exc:
        print(f"error: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}", file=sys.stderr)
        return 2
    for warning in sorted({r["warning"] for r in results if "warning" in r}):
        print(warning, file=sys.stderr)
    print(to_json(results) if args.json else format_table(results))
    errors = [r for r in results if "error" in r]
    for r in errors:
        print(f"error: {r['file']}: {r['error']}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

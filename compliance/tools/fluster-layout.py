#!/usr/bin/env python3
"""fluster-layout.py VECTORS OUT [SUITE...]: lays out the local vectors as
fluster's resources for `compliance/run fluster`.

For each suite of VECTORS/fluster-suites (or only those named), the vectors
whose input file is in the suite's local folder are copied to
OUT/resources/SUITE/VECTOR/INPUT_FILE and the suite's JSON, restricted to
them, to OUT/test_suites/SUITE.json, so that fluster's own totals count the
vectors that are here. OUT/plan.txt gets "SUITE DECODER PRESENT TOTAL" per
suite with a local vector, OUT/missing.txt "SUITE VECTOR" per vector not here
(listed as not run, never counted)."""

import json
import os
import shutil
import sys

# suite -> (local folder, fluster's GStreamer V4L2 stateless decoder)
SUITES = {
    "JVT-AVC_V1": ("h264-jvt", "GStreamer-H.264-V4L2SL-Gst1.0"),
    "JVT-FR-EXT": ("h264-frext", "GStreamer-H.264-V4L2SL-Gst1.0"),
    "JVT-Professional_profiles": ("h264-frext", "GStreamer-H.264-V4L2SL-Gst1.0"),
    "JCT-VC-HEVC_V1": ("hevc", "GStreamer-H.265-V4L2SL-Gst1.0"),
    "VP8-TEST-VECTORS": ("vp8", "GStreamer-VP8-V4L2SL-Gst1.0"),
    "VP9-TEST-VECTORS": ("vp9", "GStreamer-VP9-V4L2SL-Gst1.0"),
    "MPEG2_VIDEO-MAIN": ("mpeg2", "GStreamer-MPEG2_VIDEO-V4L2SL-Gst1.0"),
}


SUITE_FIELDS = ("name", "codec", "description")
VECTOR_FIELDS = ("name", "source", "source_checksum", "input_file", "output_format", "result")


def main():
    vectors, out = sys.argv[1], sys.argv[2]
    wanted = sys.argv[3:] or sorted(SUITES)
    os.makedirs(os.path.join(out, "test_suites"), exist_ok=True)
    plan = open(os.path.join(out, "plan.txt"), "w")
    missing = open(os.path.join(out, "missing.txt"), "w")
    for suite in wanted:
        if suite not in SUITES:
            sys.exit(f"unknown suite {suite} (known: {' '.join(sorted(SUITES))})")
        folder, decoder = SUITES[suite]
        with open(os.path.join(vectors, "fluster-suites", suite + ".json")) as f:
            ts = json.load(f)
        here = []
        for tv in ts["test_vectors"]:
            src = os.path.join(vectors, folder, os.path.basename(tv["input_file"]))
            if not os.path.isfile(src):
                missing.write(f"{suite} {tv['name']}\n")
                continue
            dst = os.path.join(out, "resources", suite, tv["name"], tv["input_file"])
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copyfile(src, dst)
            # Only the fields fluster 1.0.1 (trixie) knows: newer suite
            # files add some (profile) that it refuses.
            here.append({k: v for k, v in tv.items() if k in VECTOR_FIELDS})
        total = len(ts["test_vectors"])
        if here:
            ts = {k: v for k, v in ts.items() if k in SUITE_FIELDS}
            ts["test_vectors"] = here
            with open(os.path.join(out, "test_suites", suite + ".json"), "w") as f:
                json.dump(ts, f, indent=4)
            plan.write(f"{suite} {decoder} {len(here)} {total}\n")
        print(f"{suite}: {len(here)} of {total} vectors here")


if __name__ == "__main__":
    main()

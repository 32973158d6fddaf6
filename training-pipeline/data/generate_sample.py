#!/usr/bin/env python3
"""Generate the synthetic medical-transcription sample (data/sample.csv).

The corpus imitates "medical specialty from a transcription" (MTSamples): five
specialties, the same number of notes each. A note is mostly shared clinical
boilerplate; only a few phrases are specific to its specialty, some phrases
come from other specialties, and a small share of labels is wrong. A TF-IDF +
linear model therefore reaches roughly 0.8-0.95 accuracy, a majority-class
guess about 0.2, and a model trained on shuffled labels about chance.

Standard library only and deterministic: the same arguments always give the
same bytes.

Usage:
    python data/generate_sample.py [--output PATH] [--seed N] [--rows-per-label N]

Example:
    python training-pipeline/data/generate_sample.py --output /tmp/sample.csv
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
from collections.abc import Sequence
from pathlib import Path

DEFAULT_SEED = 20240501
DEFAULT_ROWS_PER_LABEL = 120
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "sample.csv"

# Share of notes whose label is replaced by another specialty (annotation noise).
MISLABEL_RATE = 0.06
# Chance that a sentence carries a phrase from the note's own specialty.
OWN_TERM_RATE = 0.7
# Chance that a sentence carries a phrase from some other specialty.
OTHER_TERM_RATE = 0.12

SPECIALTY_TERMS: dict[str, list[str]] = {
    "Cardiovascular / Pulmonary": [
        "atrial fibrillation", "chest pain", "echocardiogram", "ejection fraction",
        "coronary artery disease", "cardiac catheterization", "stent placement",
        "troponin", "shortness of breath", "pleural effusion", "bronchoscopy",
        "copd exacerbation", "pulmonary embolism", "mitral regurgitation",
        "systolic murmur", "wheezing", "chest x-ray", "spirometry", "angioplasty",
        "congestive heart failure", "pacemaker", "metoprolol", "albuterol nebulizer",
    ],
    "Orthopedic": [
        "rotator cuff tear", "knee arthroscopy", "total hip arthroplasty",
        "meniscus", "anterior cruciate ligament", "fracture", "open reduction",
        "internal fixation", "carpal tunnel release", "range of motion",
        "weight bearing", "cast", "tendon", "osteoarthritis of the knee",
        "lumbar spine", "orthopedic hardware", "physical therapy", "splint",
        "dislocation", "bone graft", "distal radius", "ankle sprain", "femur",
    ],
    "Neurology": [
        "seizure", "migraine", "mri of the brain", "electroencephalogram",
        "multiple sclerosis", "stroke", "transient ischemic attack", "neuropathy",
        "tremor", "parkinson disease", "cranial nerves", "deep tendon reflexes",
        "gait ataxia", "memory loss", "dementia", "levetiracetam", "numbness",
        "tingling", "lumbar puncture", "aphasia", "vertigo", "epilepsy", "headache",
    ],
    "Gastroenterology": [
        "colonoscopy", "upper endoscopy", "polyp", "gastroesophageal reflux",
        "abdominal pain", "hematochezia", "melena", "cirrhosis", "hepatitis",
        "pancreatitis", "cholecystectomy", "dysphagia", "biopsy of the stomach",
        "crohn disease", "ulcerative colitis", "diverticulosis", "omeprazole",
        "nausea and vomiting", "bowel prep", "liver enzymes", "gallstones",
        "cecum", "esophagus",
    ],
    "Urology": [
        "hematuria", "cystoscopy", "prostate", "kidney stone", "ureteral stent",
        "urinary retention", "foley catheter", "psa level", "bladder",
        "lithotripsy", "urinary tract infection", "hydronephrosis", "nephrectomy",
        "vasectomy", "urethral stricture", "incontinence", "tamsulosin",
        "scrotal pain", "renal colic", "turp", "dysuria", "urine culture",
        "testicular mass",
    ],
}

SHARED_PHRASES: list[str] = [
    "the patient", "history of present illness", "past medical history",
    "hypertension", "diabetes mellitus", "hyperlipidemia", "no known drug allergies",
    "current medications", "aspirin", "lisinopril", "review of systems",
    "otherwise negative", "vital signs", "blood pressure", "heart rate",
    "temperature", "oxygen saturation", "physical examination", "alert and oriented",
    "no acute distress", "laboratory studies", "complete blood count",
    "basic metabolic panel", "within normal limits", "assessment and plan",
    "follow up", "discharge instructions", "informed consent", "risks and benefits",
    "general anesthesia", "local anesthesia", "the procedure", "tolerated well",
    "recovery room", "stable condition", "social history", "family history",
    "smoking", "alcohol use", "weight loss", "fatigue", "fever", "chills",
    "pain medication", "ibuprofen", "acetaminophen", "primary care physician",
    "emergency department", "admitted", "outpatient clinic", "referred",
    "imaging", "ct scan", "ultrasound", "labs", "consultation", "the family",
    "further workup", "symptoms", "several weeks", "two days", "last year",
    "surgery", "postoperative", "preoperative diagnosis", "postoperative diagnosis",
    "estimated blood loss", "complications", "none", "specimens",
]

TEMPLATES: list[str] = [
    "{a} was noted on {b}.",
    "{a} reports {b} for {c}.",
    "there is a history of {a} and {b}.",
    "{a} denies {b}, {c} or {d}.",
    "on examination {a} and {b}.",
    "{a} is reviewed with {b}.",
    "plan includes {a} and {b} with {c}.",
    "{a} was discussed including {b}.",
    "{a}: {b}, {c}.",
    "findings consistent with {a}; {b} unremarkable.",
    "{a} was obtained and showed {b}.",
    "we will continue {a} and arrange {b}.",
]


def make_sentence(rng: random.Random, own: list[str], others: list[list[str]]) -> str:
    """Fill one template with shared phrases, sometimes replacing slots with
    a phrase of the note's own specialty or of another specialty."""
    template = rng.choice(TEMPLATES)
    slots = template.count("{")
    words = [rng.choice(SHARED_PHRASES) for _ in range(slots)]
    if rng.random() < OWN_TERM_RATE:
        words[rng.randrange(slots)] = rng.choice(own)
    if rng.random() < OTHER_TERM_RATE:
        words[rng.randrange(slots)] = rng.choice(rng.choice(others))
    filled = template.format(**dict(zip("abcd"[:slots], words, strict=True)))
    return filled[0].upper() + filled[1:]


def make_note(rng: random.Random, label: str) -> str:
    """Build one transcription-like note for ``label``."""
    own = SPECIALTY_TERMS[label]
    others = [terms for name, terms in SPECIALTY_TERMS.items() if name != label]
    sentences = [make_sentence(rng, own, others) for _ in range(rng.randint(4, 8))]
    return " ".join(sentences)


def generate_rows(seed: int, rows_per_label: int) -> list[tuple[str, str]]:
    """Return ``(text, label)`` rows: ``rows_per_label`` notes per specialty,
    shuffled, with ``MISLABEL_RATE`` of the labels replaced."""
    rng = random.Random(seed)
    labels = list(SPECIALTY_TERMS)
    rows: list[tuple[str, str]] = []
    for label in labels:
        for _ in range(rows_per_label):
            text = make_note(rng, label)
            if rng.random() < MISLABEL_RATE:
                label_out = rng.choice([other for other in labels if other != label])
            else:
                label_out = label
            rows.append((text, label_out))
    rng.shuffle(rows)
    return rows


def render_csv(rows: Sequence[tuple[str, str]]) -> str:
    """Render rows as CSV text with a ``text,label`` header and ``\\n`` line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["text", "label"])
    writer.writerows(rows)
    return buffer.getvalue()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help=f"CSV file to write (default: {DEFAULT_OUTPUT})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help=f"random seed (default: {DEFAULT_SEED})")
    parser.add_argument("--rows-per-label", type=int, default=DEFAULT_ROWS_PER_LABEL,
                        help=f"notes per specialty (default: {DEFAULT_ROWS_PER_LABEL})")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Write the sample CSV; return the process exit code."""
    args = parse_args(argv)
    if args.rows_per_label < 2:
        print(f"Cannot generate: --rows-per-label must be at least 2, got {args.rows_per_label}.",
              file=sys.stderr)
        return 1
    content = render_csv(generate_rows(args.seed, args.rows_per_label))
    try:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_bytes(content.encode("utf-8"))
    except OSError as error:
        print(f"Cannot write \"{args.output}\": {error.strerror}.", file=sys.stderr)
        return 1
    print(f"Wrote {content.count(chr(10)) - 1} rows to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

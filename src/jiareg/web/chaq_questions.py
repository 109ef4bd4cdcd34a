"""The CHAQ questions as the form asks them, for each item key of `CHAQ_DOMAINS`.

Wording of the Childhood Health Assessment Questionnaire (Singh G et al. Arthritis Rheum
1994;37(12):1761-1769; item list as in SPEC R-CHAQ-1, verified at rheumguide.ca). The exact
wording here is from memory (unverified): it labels the form's fields and takes no part in
scoring (`jiareg.derive.chaq`).

>>> QUESTIONS["dressing_2"], len(QUESTIONS)
('Shampoo your hair?', 30)
"""

from __future__ import annotations

from typing import Final

from jiareg.derive.chaq import CHAQ_DOMAINS

__all__ = ["DOMAIN_TITLES", "QUESTIONS"]

DOMAIN_TITLES: Final = {
    "dressing": "Dressing and grooming: is your child able to",
    "arising": "Arising: is your child able to",
    "eating": "Eating: is your child able to",
    "walking": "Walking: is your child able to",
    "hygiene": "Hygiene: is your child able to",
    "reach": "Reach: is your child able to",
    "grip": "Grip: is your child able to",
    "activities": "Activities: is your child able to",
}
_TEXT: Final = {
    "dressing": (
        "Dress, including tying shoelaces and doing buttons?",
        "Shampoo your hair?",
        "Remove socks?",
        "Cut fingernails?",
    ),
    "arising": ("Stand up from a low chair or floor?", "Get in and out of bed or crib?"),
    "eating": ("Cut your own meat?", "Lift a cup or glass to mouth?", "Open a new cereal box?"),
    "walking": ("Walk outdoors on flat ground?", "Climb up five steps?"),
    "hygiene": (
        "Wash and dry entire body?",
        "Take a tub bath?",
        "Get on and off the toilet or potty chair?",
        "Brush teeth?",
        "Comb or brush hair?",
    ),
    "reach": (
        "Reach and get down a heavy object such as a large game or books from just above "
        "your head?",
        "Bend down to pick up clothing or a piece of paper from the floor?",
        "Pull on a sweater over your head?",
        "Turn neck to look back over your shoulder?",
    ),
    "grip": (
        "Write or scribble with a pen or pencil?",
        "Open car doors?",
        "Open jars which have been previously opened?",
        "Turn faucets on and off?",
        "Push open a door when you have to turn a door knob?",
    ),
    "activities": (
        "Run errands and shop?",
        "Get in and out of a car, toy car or school bus?",
        "Ride a bike or tricycle?",
        "Do household chores (e.g. wash dishes, take out trash, make bed, clean room)?",
        "Run and play?",
    ),
}
QUESTIONS: Final[dict[str, str]] = {
    item: text
    for domain, items in CHAQ_DOMAINS.items()
    for item, text in zip(items, _TEXT[domain], strict=True)
}
"""Item key (e.g. `dressing_1`) -> the question."""

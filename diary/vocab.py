"""Coded vocabularies from DOMAIN.md section 2-3. These are the codes on the wire and in the database."""

from __future__ import annotations

EPISODE_KINDS = ("spasm", "cramp", "twitch")
SUBTYPES: dict[str, tuple[str, ...]] = {
    "spasm": ("skeletal", "smooth", "ischemic", "clonic", "tonic", "dystonic"),
    "cramp": ("exertional", "nocturnal", "at_rest"),
    "twitch": ("fasciculation", "clonus", "spasticity"),
}
ALL_SUBTYPES = tuple(s for subs in SUBTYPES.values() for s in subs)

BODY_LOCATIONS = (
    "eyelid", "face", "jaw", "neck", "shoulder", "upper_back", "lower_back", "chest", "abdomen",
    "pelvic_floor", "biceps", "triceps", "forearm", "hand", "fingers", "glutes", "hip",
    "quadriceps", "hamstring", "calf", "shin", "foot", "toes", "other",
)  # fmt: skip
SIDES = ("left", "right", "both", "midline")
ACTIVITIES = ("exercise", "sleep", "rest", "sitting", "standing", "walking", "driving", "working", "other")
TRIGGERS = (
    "dehydration", "low_electrolytes", "heat", "strenuous_exercise", "overuse", "no_stretching",
    "poor_posture", "prolonged_sitting", "tight_clothing", "stress", "anxiety", "caffeine",
    "fatigue", "poor_sleep", "medication", "menstruation", "cold", "injury", "unknown",
)  # fmt: skip
CUSTOM_PREFIX = "custom:"
CUSTOM_MAX_LEN = 60
SYMPTOMS = (
    "breathing_difficulty", "weakness", "numbness", "tingling", "swelling", "skin_change",
    "warmth_redness", "visible_bulging", "cannot_move", "lingering_pain",
)  # fmt: skip
RELIEF = ("ice", "heat", "stretching", "massage", "hydration", "rest", "medication", "electrical_stimulation", "none")
EXERCISE_INTENSITIES = ("none", "light", "moderate", "vigorous")
# DOMAIN.md names statins and diuretics and allows "other codes"; these are the drug classes
# commonly linked to cramps, plus supplements people take for them. Anything else: custom:<text>.
MEDICATIONS = (
    "statin", "diuretic", "beta_agonist", "calcium_channel_blocker", "ace_inhibitor", "arb",
    "steroid", "antipsychotic", "muscle_relaxant", "nsaid", "magnesium", "potassium", "calcium",
    "quinine", "other",
)  # fmt: skip

BODY_REGIONS: dict[str, str] = {
    **dict.fromkeys(("eyelid", "face", "jaw", "neck"), "head_neck"),
    **dict.fromkeys(("chest", "abdomen", "upper_back", "lower_back", "pelvic_floor"), "trunk"),
    **dict.fromkeys(("shoulder", "biceps", "triceps", "forearm", "hand", "fingers"), "arms"),
    **dict.fromkeys(("glutes", "hip", "quadriceps", "hamstring", "calf", "shin", "foot", "toes"), "legs"),
}

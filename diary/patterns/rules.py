"""The minimum-data rules and the periods compared: when the diary says something, and when it says what
is missing instead. The snapshot publishes them (``rules``); the error rates live in multiplicity.py."""

from __future__ import annotations

from diary.patterns.snapshot import Rules

# --- periods -------------------------------------------------------------------------------------------
FREQUENCY_PERIODS = (7, 28, 90)
TREND_DAYS = 28  # last 28 days vs the 28 before
CONFIDENCE = 0.95  # of every interval
DURATION_TREND_P = 0.05

# --- minimum data --------------------------------------------------------------------------------------
MIN_CHECKIN_DAYS = 14  # check-ins that logged the exposure's field (paired days for lag 1)
MIN_EXPOSED_DAYS = 5
MIN_UNEXPOSED_DAYS = 5
# A "fewer" or next-day claim (the secondary families, multiplicity.py) rests on at least 14 exposed and
# 14 unexposed days (two weeks of each): below that one clustered bad day can make most of a side's
# episodes, and such claims were measured false at 8 exposed days. Not applied to same-day "more"
# claims: there it cut the recall of real triggers at 30 days below the Bonferroni oracle's.
MIN_SECONDARY_CLAIM_DAYS = 14
MIN_TEST_EPISODES = 10  # episodes on those days, exposed and unexposed together
MIN_TREND_DAYS = 14  # observed days in each of the two 28-day periods
MIN_TREND_EPISODES = 10
MIN_DURATION_N = 3  # timed episodes of a kind for a duration summary sentence
MIN_DURATION_TREND_N = 5  # timed episodes in each 28-day period for a duration trend
MIN_TIMING_EPISODES = 10  # before "mostly at night" is said (yes or no)
MIN_SUSPECTED_TAGS = 3  # a tagged trigger becomes a suspected-trigger hypothesis at 3 tags ...
MIN_SUSPECTED_SHARE = 0.10  # ... on at least 10% of the window's episodes
MIN_RELIEF_N = 3  # rated episodes before a relief measure is compared

RULES = Rules(
    min_checkin_days=MIN_CHECKIN_DAYS,
    min_exposed_days=MIN_EXPOSED_DAYS,
    min_unexposed_days=MIN_UNEXPOSED_DAYS,
    min_test_episodes=MIN_TEST_EPISODES,
    min_trend_days=MIN_TREND_DAYS,
    min_trend_episodes=MIN_TREND_EPISODES,
    min_duration_n=MIN_DURATION_N,
    min_duration_trend_n=MIN_DURATION_TREND_N,
    min_timing_episodes=MIN_TIMING_EPISODES,
    min_suspected_tags=MIN_SUSPECTED_TAGS,
    min_suspected_share=MIN_SUSPECTED_SHARE,
    min_relief_n=MIN_RELIEF_N,
)

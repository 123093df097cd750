"""The default recommended strategy of a segment: an ordered rule table kept as data.

Each rule says: when a segment carries `flag` (None = every segment, the last resort), recommend
`title` with its `actions`, because `rationale`. The first matching rule wins, so the order is the
priority. The Django playbook is seeded from `STRATEGY_RULES`; keep it plain data (str, lists).

Flags are documented in `flags.py`. Texts speak of the run's roles, never of fixed columns:
`{monetary}` and `{capacity}` are filled by `role_words` from the run's features (on the Mall
columns "spending" and "income", so Mall's texts are the shipped ones).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from segmentation.ml.fields import feature_role
from segmentation.ml.naming import noun

# The words of the canonical roles (spending_score is monetary, annual_income capacity).
DEFAULT_WORDS: dict[str, str] = {"monetary": "spending", "capacity": "income"}
# Several features of a role, or none.
MANY_WORDS: dict[str, str] = {"monetary": "total spend", "capacity": "means to spend"}
NONE_WORDS: dict[str, str] = {"monetary": "purchases", "capacity": "means to spend"}
# The playbook's own wording, true of any table (its rules apply to every run).
GENERIC_WORDS: dict[str, str] = {"monetary": "spend", "capacity": "capacity (e.g. income)"}

STRATEGY_RULES: tuple[dict[str, Any], ...] = (
    {
        "key": "retain_and_reward",
        "flag": "high_value",
        "title": "Retain and reward",
        "actions": [
            "Invite to the loyalty programme's top tier",
            "Early access to new collections and private sales",
            "Personal account manager or concierge service",
        ],
        "rationale": "The highest {monetary} per customer: keeping them matters more than any discount.",
    },
    {
        "key": "upsell_premium",
        "flag": "upsell",
        "title": "Win the share of wallet",
        "actions": [
            "Premium and quality-led offers rather than discounts",
            "Personalised recommendations based on their past purchases",
            "Survey what keeps them from buying more",
        ],
        "rationale": "High {capacity} but low {monetary}: they can buy more and shop elsewhere today.",
    },
    {
        "key": "reactivate",
        "flag": "at_risk",
        "title": "Win back",
        "actions": [
            "Reactivation campaign with a time-limited incentive",
            "Ask for feedback on their last purchase",
        ],
        "rationale": "They bought before but not for a long time: act before they are lost.",
    },
    {
        "key": "young_trendsetters",
        "flag": "young_spenders",
        "title": "Engage young spenders",
        "actions": [
            "Social-media and mobile-first campaigns",
            "Trend-led new arrivals and limited editions",
            "Referral rewards for bringing friends",
        ],
        "rationale": "Young and high {monetary}: build the habit and the relationship early.",
    },
    {
        "key": "aspirational_value",
        "flag": "aspirational",
        "title": "Keep them buying, sensibly",
        "actions": [
            "Instalment and buy-now-pay-later options",
            "Bundles and affordable versions of popular products",
            "Loyalty points on every purchase",
        ],
        "rationale": "High {monetary} on low {capacity}: value and convenience keep them.",
    },
    {
        "key": "budget_value",
        "flag": "budget",
        "title": "Value offers",
        "actions": [
            "Discounts, coupons and seasonal sales",
            "Entry-level and own-brand products",
            "Low-cost channels (email, app notifications)",
        ],
        "rationale": "Low {capacity} and low {monetary}: price is what moves them; keep the cost to serve low.",
    },
    {
        "key": "activate",
        "flag": "low_engagement",
        "title": "Activate",
        "actions": [
            "Welcome-back and first-purchase offers",
            "Remind them of categories they browsed",
        ],
        "rationale": "Low {monetary} or few purchases for their profile: give them a reason to come back.",
    },
    {
        "key": "nurture_mainstream",
        "flag": "mainstream",
        "title": "Nurture the core",
        "actions": [
            "Regular newsletter with broad offers",
            "Cross-sell complementary products",
            "Loyalty programme entry tier",
        ],
        "rationale": "The typical customer: steady, broad engagement at a low cost per customer.",
    },
    {
        "key": "default",
        "flag": None,
        "title": "Monitor and test",
        "actions": [
            "A/B test offers to learn what this segment responds to",
            "Track {monetary} over the next runs",
        ],
        "rationale": "No strong signal in the profile yet.",
    },
)


def strategy_rule_for(flags: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """The first rule whose flag the segment carries (the last rule matches every segment)."""
    for rule in STRATEGY_RULES:
        if rule["flag"] is None or rule["flag"] in flags:
            return rule
    return STRATEGY_RULES[-1]


def role_words(features: Sequence[str], roles: Mapping[str, str] | None = None) -> dict[str, str]:
    """The words that fill `{monetary}` and `{capacity}`: one feature's noun, or a generic phrase."""
    words: dict[str, str] = {}
    for role in DEFAULT_WORDS:
        named = [f for f in features if feature_role(f, roles) == role]
        words[role] = noun(named[0]) if len(named) == 1 else MANY_WORDS[role] if named else NONE_WORDS[role]
    return words


def fill(text: str, words: Mapping[str, str] | None = None) -> str:
    """`text` with `{monetary}` / `{capacity}` replaced by `words` (default: the canonical roles' words)."""
    for role, default in DEFAULT_WORDS.items():
        text = text.replace("{" + role + "}", (words or {}).get(role, default))
    return text


def strategy_text(rule: dict[str, Any], words: Mapping[str, str] | None = None) -> str:
    """One readable line: 'Title: action; action.', worded for the run's roles (`role_words`)."""
    return fill(f"{rule['title']}: {'; '.join(rule['actions'])}.", words)


def strategy_rationale(rule: dict[str, Any], words: Mapping[str, str] | None = None) -> str:
    """Why the rule fits, worded for the run's roles (`role_words`)."""
    return fill(str(rule["rationale"]), words)

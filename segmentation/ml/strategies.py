"""The default recommended strategy of a segment: an ordered rule table kept as data.

Each rule says: when a segment carries `flag` (None = every segment, the last resort), recommend
`title` with its `actions`, because `rationale`. The first matching rule wins, so the order is the
priority. The Django playbook is seeded from `STRATEGY_RULES`; keep it plain data (str, lists).

Flags are documented in `profiles.py`.
"""

from __future__ import annotations

from typing import Any

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
        "rationale": "They earn and spend the most: keeping them matters more than any discount.",
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
        "rationale": "High income but low spending: they can buy more and shop elsewhere today.",
    },
    {
        "key": "reactivate",
        "flag": "at_risk",
        "title": "Win back",
        "actions": [
            "Reactivation campaign with a time-limited incentive",
            "Ask for feedback on their last purchase",
        ],
        "rationale": "They have not bought for a long time: act before they are lost.",
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
        "rationale": "Young and spending a lot: build the habit and the relationship early.",
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
        "rationale": "They spend well above their income level: value and convenience keep them.",
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
        "rationale": "Low income and low spending: price is what moves them; keep the cost to serve low.",
    },
    {
        "key": "activate",
        "flag": "low_engagement",
        "title": "Activate",
        "actions": [
            "Welcome-back and first-purchase offers",
            "Remind them of categories they browsed",
        ],
        "rationale": "They spend little for their profile: give them a reason to come back.",
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
            "Track spending over the next runs",
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


def strategy_text(rule: dict[str, Any]) -> str:
    """One readable line: 'Title: action; action.'"""
    return f"{rule['title']}: {'; '.join(rule['actions'])}."

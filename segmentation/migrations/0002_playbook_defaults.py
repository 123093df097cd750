"""The playbook's shipped rules, as data: one per rule of the engine's table as it was at the first release.

Each rule keys on one flag; the last one (no flag) matches every segment. Admins then edit the rows;
later changes to the engine's table do not touch them, and this migration writes the same rows
whatever the code says later.
"""

from django.db import migrations

DEFAULT_RULES = [{'name': 'Retain and reward',
  'priority': 10,
  'flags': ['high_value'],
  'conditions': [],
  'actions': "Retain and reward: Invite to the loyalty programme's top tier; Early access to new collections and "
             'private sales; Personal account manager or concierge service.',
  'rationale': 'They earn and spend the most: keeping them matters more than any discount.'},
 {'name': 'Win the share of wallet',
  'priority': 20,
  'flags': ['upsell'],
  'conditions': [],
  'actions': 'Win the share of wallet: Premium and quality-led offers rather than discounts; Personalised '
             'recommendations based on their past purchases; Survey what keeps them from buying more.',
  'rationale': 'High income but low spending: they can buy more and shop elsewhere today.'},
 {'name': 'Win back',
  'priority': 30,
  'flags': ['at_risk'],
  'conditions': [],
  'actions': 'Win back: Reactivation campaign with a time-limited incentive; Ask for feedback on their last '
             'purchase.',
  'rationale': 'They have not bought for a long time: act before they are lost.'},
 {'name': 'Engage young spenders',
  'priority': 40,
  'flags': ['young_spenders'],
  'conditions': [],
  'actions': 'Engage young spenders: Social-media and mobile-first campaigns; Trend-led new arrivals and limited '
             'editions; Referral rewards for bringing friends.',
  'rationale': 'Young and spending a lot: build the habit and the relationship early.'},
 {'name': 'Keep them buying, sensibly',
  'priority': 50,
  'flags': ['aspirational'],
  'conditions': [],
  'actions': 'Keep them buying, sensibly: Instalment and buy-now-pay-later options; Bundles and affordable versions '
             'of popular products; Loyalty points on every purchase.',
  'rationale': 'They spend well above their income level: value and convenience keep them.'},
 {'name': 'Value offers',
  'priority': 60,
  'flags': ['budget'],
  'conditions': [],
  'actions': 'Value offers: Discounts, coupons and seasonal sales; Entry-level and own-brand products; Low-cost '
             'channels (email, app notifications).',
  'rationale': 'Low income and low spending: price is what moves them; keep the cost to serve low.'},
 {'name': 'Activate',
  'priority': 70,
  'flags': ['low_engagement'],
  'conditions': [],
  'actions': 'Activate: Welcome-back and first-purchase offers; Remind them of categories they browsed.',
  'rationale': 'They spend little for their profile: give them a reason to come back.'},
 {'name': 'Nurture the core',
  'priority': 80,
  'flags': ['mainstream'],
  'conditions': [],
  'actions': 'Nurture the core: Regular newsletter with broad offers; Cross-sell complementary products; Loyalty '
             'programme entry tier.',
  'rationale': 'The typical customer: steady, broad engagement at a low cost per customer.'},
 {'name': 'Monitor and test',
  'priority': 1000,
  'flags': [],
  'conditions': [],
  'actions': 'Monitor and test: A/B test offers to learn what this segment responds to; Track spending over the next '
             'runs.',
  'rationale': 'No strong signal in the profile yet.'}]


def create_defaults(apps, schema_editor):
    PlaybookRule = apps.get_model("segmentation", "PlaybookRule")
    for rule in DEFAULT_RULES:
        PlaybookRule.objects.get_or_create(name=rule["name"], defaults={**rule, "builtin": True})


def remove_defaults(apps, schema_editor):
    PlaybookRule = apps.get_model("segmentation", "PlaybookRule")
    PlaybookRule.objects.filter(builtin=True, name__in=[r["name"] for r in DEFAULT_RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("segmentation", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, remove_defaults)]

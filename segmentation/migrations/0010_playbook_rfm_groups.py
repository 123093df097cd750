"""The playbook's rules for the 11 RFM groups, as data (a copy of segmentation.ml.rfm.RFM_STRATEGIES as shipped).

Each rule keys on its group's flag (rfm_champions, ...), which only RFM segments carry, so KMeans segments
never match them; priorities 1-11 put them before the other rules. Admins edit the rows afterwards.
"""

from django.db import migrations

RFM_RULES = [{'name': 'RFM: Champions',
  'priority': 1,
  'flags': ['rfm_champions'],
  'conditions': [],
  'actions': 'Offer: Early access to new products, loyalty rewards and invitations to review or refer; no '
             'discounts needed. Channel: Personal e-mail and the loyalty programme. Why: They bought '
             'recently, often and for the most: reward them and make them ambassadors.',
  'rationale': 'They bought recently, often and for the most: reward them and make them ambassadors.'},
 {'name': 'RFM: Loyal',
  'priority': 2,
  'flags': ['rfm_loyal'],
  'conditions': [],
  'actions': 'Offer: Upsell higher-value products, ask for reviews, membership or subscription offers. '
             'Channel: E-mail and the loyalty programme. Why: They buy often and respond to promotions: '
             'deepen the relationship.',
  'rationale': 'They buy often and respond to promotions: deepen the relationship.'},
 {'name': 'RFM: Potential loyalists',
  'priority': 3,
  'flags': ['rfm_potential_loyalists'],
  'conditions': [],
  'actions': 'Offer: Membership or loyalty programme, personalised recommendations on their last purchases. '
             'Channel: E-mail and on-site personalisation. Why: Recent customers who bought more than once: '
             'turn them into loyal ones.',
  'rationale': 'Recent customers who bought more than once: turn them into loyal ones.'},
 {'name': 'RFM: New',
  'priority': 4,
  'flags': ['rfm_new'],
  'conditions': [],
  'actions': 'Offer: Onboarding series, a welcome offer on the second order, help with getting started. '
             'Channel: Welcome e-mail series. Why: They bought for the first time just now: the second '
             'purchase is the hardest.',
  'rationale': 'They bought for the first time just now: the second purchase is the hardest.'},
 {'name': 'RFM: Promising',
  'priority': 5,
  'flags': ['rfm_promising'],
  'conditions': [],
  'actions': 'Offer: Free shipping or a small incentive on the next order, brand awareness content. Channel: '
             'E-mail and retargeting ads. Why: Recent but one purchase so far: build the habit.',
  'rationale': 'Recent but one purchase so far: build the habit.'},
 {'name': 'RFM: Need attention',
  'priority': 6,
  'flags': ['rfm_need_attention'],
  'conditions': [],
  'actions': 'Offer: Limited-time offers based on their past purchases, recommendations. Channel: E-mail. '
             'Why: Average recency and frequency: reactivate them before they slip.',
  'rationale': 'Average recency and frequency: reactivate them before they slip.'},
 {'name': 'RFM: About to sleep',
  'priority': 7,
  'flags': ['rfm_about_to_sleep'],
  'conditions': [],
  'actions': 'Offer: Popular products and discounts with a deadline, reconnect with a reminder. Channel: '
             'E-mail and retargeting ads. Why: Below-average recency and few purchases: they will be lost '
             'without a reason to return.',
  'rationale': 'Below-average recency and few purchases: they will be lost without a reason to return.'},
 {'name': "RFM: Can't lose them",
  'priority': 8,
  'flags': ['rfm_cant_lose_them'],
  'conditions': [],
  'actions': 'Offer: Win them back with a personal offer or new products; ask what went wrong. Channel: '
             'Personal e-mail or phone call. Why: They bought often but long ago: the most valuable '
             'customers to win back.',
  'rationale': 'They bought often but long ago: the most valuable customers to win back.'},
 {'name': 'RFM: At risk',
  'priority': 9,
  'flags': ['rfm_at_risk'],
  'conditions': [],
  'actions': 'Offer: Personalised reactivation offers, renewals and helpful resources. Channel: E-mail and '
             'direct mail. Why: They used to buy regularly but not for a long time: act before they are '
             'lost.',
  'rationale': 'They used to buy regularly but not for a long time: act before they are lost.'},
 {'name': 'RFM: Hibernating',
  'priority': 10,
  'flags': ['rfm_hibernating'],
  'conditions': [],
  'actions': 'Offer: Relevant products and special discounts; recreate interest in the brand. Channel: '
             'E-mail (low frequency). Why: Last purchase long ago, few orders: low cost reactivation only.',
  'rationale': 'Last purchase long ago, few orders: low cost reactivation only.'},
 {'name': 'RFM: Lost',
  'priority': 11,
  'flags': ['rfm_lost'],
  'conditions': [],
  'actions': 'Offer: One last reactivation campaign, then leave them out of paid campaigns. Channel: E-mail '
             'only. Why: Lowest recency and frequency: not worth paid channels.',
  'rationale': 'Lowest recency and frequency: not worth paid channels.'}]


def rules_add(apps, schema_editor):
    PlaybookRule = apps.get_model("segmentation", "PlaybookRule")
    for rule in RFM_RULES:
        PlaybookRule.objects.get_or_create(name=rule["name"], defaults={**rule, "builtin": True})


def rules_remove(apps, schema_editor):
    PlaybookRule = apps.get_model("segmentation", "PlaybookRule")
    PlaybookRule.objects.filter(name__in=[r["name"] for r in RFM_RULES], builtin=True).delete()


class Migration(migrations.Migration):
    dependencies = [("segmentation", "0009_segmentation_method_rfm")]

    operations = [migrations.RunPython(rules_add, rules_remove)]

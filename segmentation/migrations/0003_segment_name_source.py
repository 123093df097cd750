"""Segments say where their name comes from; the shipped playbook rules speak of roles, not Mall columns.

1. `Segment.name_source`: "engine" (made from the run's own profile, never carried to a later run)
   or "person" (typed, carried by lineage to the same group). Existing names were made by the engine.
2. The rationales of the shipped playbook rules (0002) spoke of income and spending; flags now come
   from the columns' roles, so a rule still holding its shipped text gets the role wording (the text
   of `segmentation.ml.strategies` with its generic words, written out here so later code changes do
   not alter this migration). A rationale an Admin edited is left alone. Actions are unchanged.
"""

from django.db import migrations, models

# rule name -> (shipped rationale, role-worded rationale)
REWORDED = {
    'Retain and reward': ('They earn and spend the most: keeping them matters more than any discount.', 'The highest spend per customer: keeping them matters more than any discount.'),
    'Win the share of wallet': ('High income but low spending: they can buy more and shop elsewhere today.', 'High capacity (e.g. income) but low spend: they can buy more and shop elsewhere today.'),
    'Win back': ('They have not bought for a long time: act before they are lost.', 'They bought before but not for a long time: act before they are lost.'),
    'Engage young spenders': ('Young and spending a lot: build the habit and the relationship early.', 'Young and high spend: build the habit and the relationship early.'),
    'Keep them buying, sensibly': ('They spend well above their income level: value and convenience keep them.', 'High spend on low capacity (e.g. income): value and convenience keep them.'),
    'Value offers': ('Low income and low spending: price is what moves them; keep the cost to serve low.', 'Low capacity (e.g. income) and low spend: price is what moves them; keep the cost to serve low.'),
    'Activate': ('They spend little for their profile: give them a reason to come back.', 'Low spend or few purchases for their profile: give them a reason to come back.'),
}


def reword(apps, schema_editor, *, forward=True):
    PlaybookRule = apps.get_model("segmentation", "PlaybookRule")
    for name, (shipped, worded) in REWORDED.items():
        old, new = (shipped, worded) if forward else (worded, shipped)
        PlaybookRule.objects.filter(builtin=True, name=name, rationale=old).update(rationale=new)


def unword(apps, schema_editor):
    reword(apps, schema_editor, forward=False)


class Migration(migrations.Migration):
    dependencies = [
        ("segmentation", "0002_playbook_defaults"),
    ]

    operations = [
        migrations.AddField(
            model_name="segment",
            name="name_source",
            field=models.CharField(
                choices=[("engine", "Made by the engine from the profile"), ("person", "Typed by a person")],
                default="engine",
                help_text="engine: made from this run's profile (never carried); person: typed, carried by lineage",
                max_length=8,
            ),
        ),
        migrations.RunPython(reword, unword),
    ]

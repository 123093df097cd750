"""The synthetic test tables have the published shapes they imitate (tests/synth.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.synth import (
    PERSONALITY_COLUMNS,
    PERSONALITY_EXTREME_INCOME,
    PERSONALITY_FIRST_ID,
    PERSONALITY_FIRST_INCOME,
    PERSONALITY_MISSING_INCOME,
    PERSONALITY_SPEND,
    WHOLESALE_COLUMNS,
    WHOLESALE_SPEND,
    personality_like,
    wholesale_like,
    write_csv,
    write_tsv,
)


def test_personality_like_shape_missing_and_extreme_income():
    frame = personality_like()
    assert frame.shape == (2240, 21) and list(frame.columns) == PERSONALITY_COLUMNS
    assert frame["ID"].is_unique
    assert frame["Income"].isna().sum() == 24
    assert (frame["Income"] == PERSONALITY_EXTREME_INCOME).sum() == 1
    ordinary = frame["Income"].dropna()
    ordinary = ordinary[ordinary != PERSONALITY_EXTREME_INCOME].astype(float)
    assert 40_000 < ordinary.median() < 65_000 and ordinary.min() >= 1_730 and ordinary.max() < 200_000
    assert frame["Recency"].between(0, 99).all()
    assert set(frame["Response"]) == {0, 1}
    for column in PERSONALITY_SPEND:
        assert (frame[column] >= 0).all()
    assert frame["MntWines"].mean() > frame["MntFruits"].mean() * 5


def test_personality_like_income_drives_spend():
    frame = personality_like()
    ordinary = frame[frame["Income"].notna() & (frame["Income"] < 200_000)]
    spent = ordinary[PERSONALITY_SPEND].sum(axis=1)
    assert ordinary["Income"].astype(float).corr(spent) > 0.5
    assert ordinary["Income"].astype(float).corr(ordinary["NumWebVisitsMonth"].astype(float)) < 0


def test_wholesale_like_shape_and_channels():
    frame = wholesale_like()
    assert frame.shape == (440, 8) and list(frame.columns) == WHOLESALE_COLUMNS
    assert frame["Channel"].value_counts().to_dict() == {1: 298, 2: 142}
    assert frame["Region"].value_counts().to_dict() == {3: 316, 1: 77, 2: 47}
    for column in WHOLESALE_SPEND:
        assert (frame[column] >= 3).all()
        assert frame[column].mean() > 1.2 * frame[column].median()  # skewed to the right
    medians = frame.groupby("Channel")[WHOLESALE_SPEND].median()
    assert medians.loc[2, "Grocery"] > 3 * medians.loc[1, "Grocery"]
    assert medians.loc[2, "Detergents_Paper"] > 5 * medians.loc[1, "Detergents_Paper"]
    assert medians.loc[1, "Fresh"] > medians.loc[2, "Fresh"]


def test_published_first_row_keeps_the_counts():
    plain, frame = personality_like(), personality_like(published_first_row=True)
    assert frame.loc[0, ["ID", "Income"]].tolist() == [PERSONALITY_FIRST_ID, PERSONALITY_FIRST_INCOME]
    assert frame["ID"].is_unique and frame["Income"].isna().sum() == PERSONALITY_MISSING_INCOME
    assert (frame["Income"] == PERSONALITY_EXTREME_INCOME).sum() == 1
    others = [c for c in PERSONALITY_COLUMNS if c not in ("ID", "Income")]
    assert frame[others].equals(plain[others])


@pytest.mark.parametrize("make", [personality_like, wholesale_like])
def test_same_seed_same_table(make):
    assert make(seed=3).equals(make(seed=3))
    assert not make(seed=3).equals(make(seed=4))


def test_written_files_read_back(tmp_path):
    people = personality_like(200, seed=1)
    path = write_tsv(people, tmp_path / "p.tsv")
    text = path.read_text()
    assert text.splitlines()[0].split("\t") == PERSONALITY_COLUMNS
    back = pd.read_csv(path, sep="\t")
    assert back["Income"].isna().sum() == people["Income"].isna().sum()
    assert back["ID"].tolist() == people["ID"].tolist()
    shops = wholesale_like(50, seed=1)
    assert pd.read_csv(write_csv(shops, tmp_path / "w.csv")).equals(shops)

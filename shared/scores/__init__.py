"""Scores from the counts scoring keeps: what the api serves and the alerting watcher compares.

`board.ScoreBoard` turns a period's counts into every unit's points under a methodology, once per
version of the period; `ranking.rank` orders units by them; `repository` holds their queries.
"""

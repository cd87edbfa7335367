"""The dossier rules of the methodology, pure: a dossier's state as a join of its events
(`dossier`), whether it was handled on time (`ontime`), and what it adds to the counts
(`contributions`). Scoring applies them incrementally; the api uses them to list the dossiers
behind a number."""

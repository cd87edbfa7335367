"""`python -m shared.alerts > docs/schemas/alerts-v1.json` republishes the alert schema."""

import orjson

from shared.alerts import Alert

print(orjson.dumps(Alert.model_json_schema(by_alias=True), option=orjson.OPT_INDENT_2).decode())

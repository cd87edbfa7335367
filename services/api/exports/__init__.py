"""The files an office can send: every report as XLSX (for people) and CSV (for machines).

table.py    a report as a table: title, period line, two-level headers, typed columns, rows
tables.py   each report's JSON body as its table (one function per report)
xlsx.py     the XLSX writer (XlsxWriter)
csv_text.py the CSV writer
formats.py  `?format=json|xlsx|csv`, each file's ETag, its writing once per ETag, its name
"""

from services.ingest.main import run

run()

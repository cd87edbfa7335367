from services.scoring.main import run

run()

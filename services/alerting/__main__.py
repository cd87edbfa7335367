from services.alerting.main import run

run()

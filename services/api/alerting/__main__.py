from services.api.alerting.main import run

run()

from services.simulator.main import run

run()

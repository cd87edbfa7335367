from services.devstack.main import main

main()

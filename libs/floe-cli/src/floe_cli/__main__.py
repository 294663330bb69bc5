from floe_cli.main import main

main()

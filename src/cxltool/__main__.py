from cxltool.cli.main import main

main()

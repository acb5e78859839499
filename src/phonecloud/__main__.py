from phonecloud.cli import main

main()

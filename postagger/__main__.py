from postagger.cli import main

main()

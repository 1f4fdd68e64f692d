from scheduling.runner import main

main()

module groundup/oracle/echo

go 1.22

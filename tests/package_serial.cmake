# Included by CTest after the Catch2 test list (CMakeLists.txt, TEST_INCLUDE_FILES): the package
# test (tests/httpd/apache_package_test.cpp) runs dpkg-buildpackage, which compiles the module
# and the tools on both CPUs; run it alone, so that it neither waits for the CPUs nor slows the
# timing-sensitive tests beside it.
set_tests_properties("the Debian package libapache2-mod-mdactor built from the tree"
                     PROPERTIES RUN_SERIAL TRUE)

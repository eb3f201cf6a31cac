<?php

// The tests run on the Laravel framework packaged by Debian
// (php-laravel-framework, Illuminate 8.83, with php-guzzlehttp-guzzle).
// The package itself is autoloaded by Composer: laravel_test.go installs
// it from this directory into a throwaway app (a path repository) and
// names that app in BELFRY_TEST_APP. Without it, a PSR-4 loader of src/
// and tests/ stands in, and the auto-discovery test skips.

$debian = getenv('BELFRY_TEST_PHP_PATH') ?: '/usr/share/php';
require_once $debian.'/Illuminate/autoload.php';
require_once $debian.'/GuzzleHttp/autoload.php';

$app = getenv('BELFRY_TEST_APP');
if ($app !== false && $app !== '') {
    require_once $app.'/vendor/autoload.php';
} else {
    spl_autoload_register(function ($class) {
        foreach (['Belfry\\Laravel\\Tests\\' => __DIR__.'/', 'Belfry\\Laravel\\' => __DIR__.'/../src/'] as $prefix => $dir) {
            if (strncmp($class, $prefix, strlen($prefix)) === 0) {
                $file = $dir.str_replace('\\', '/', substr($class, strlen($prefix))).'.php';
                if (is_file($file)) {
                    require $file;
                }

                return;
            }
        }
    });
}

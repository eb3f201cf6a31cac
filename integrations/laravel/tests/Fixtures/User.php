<?php

namespace Belfry\Laravel\Tests\Fixtures;

use Illuminate\Auth\Authenticatable as AuthenticatableTrait;
use Illuminate\Contracts\Auth\Authenticatable;
use Illuminate\Database\Eloquent\Model;
use Illuminate\Notifications\Notifiable;

/** An app's user: belfry knows it by its key. */
class User extends Model implements Authenticatable
{
    use AuthenticatableTrait, Notifiable;

    protected $table = 'users';

    protected $guarded = [];

    public $timestamps = false;

    public $incrementing = false;
}
